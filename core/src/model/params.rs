//! Parameter identities by name. burn's optimizer keeps its state per `ParamId`, and ids are
//! new each time a model is loaded; a checkpoint saves each parameter's id under its module path
//! (`layers.0.attention.q.weight`) so that a resumed run gives the reloaded model its old ids and
//! the optimizer state lines up again.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

use super::{Llama, ModelError};

/// Every float parameter's id, by module path.
pub fn param_ids(model: &Llama) -> BTreeMap<String, u64> {
    let mut visitor = Collect::default();
    model.visit(&mut visitor);
    visitor.ids
}

/// The same model with each parameter's id set from `ids` (by module path); every parameter
/// must be named there.
pub fn with_param_ids(model: Llama, ids: &BTreeMap<String, u64>) -> Result<Llama, ModelError> {
    let mut mapper = Assign {
        ids,
        path: Vec::new(),
        missing: Vec::new(),
    };
    let model = model.map(&mut mapper);
    match mapper.missing.is_empty() {
        true => Ok(model),
        false => Err(ModelError::Config(format!(
            "the checkpoint names no id for {}",
            mapper.missing.join(", ")
        ))),
    }
}

#[derive(Default)]
struct Collect {
    path: Vec<String>,
    ids: BTreeMap<String, u64>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.ids.insert(self.path.join("."), param.id.val());
    }
}

struct Assign<'a> {
    ids: &'a BTreeMap<String, u64>,
    path: Vec<String>,
    missing: Vec<String>,
}

impl ModuleMapper for Assign<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        match self.ids.get(&path) {
            Some(&id) => param.id = ParamId::from(id),
            None => self.missing.push(path),
        }
        param
    }
}
