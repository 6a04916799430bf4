; Local names (see javascript/locals.scm for the captures).
[(function_item) (closure_expression) (block) (impl_item) (trait_item) (mod_item) (match_arm)
 (for_expression)] @scope

(let_declaration pattern: (identifier) @definition)
(let_condition pattern: (identifier) @definition)
(parameter pattern: (identifier) @definition)
(closure_parameters (identifier) @definition)
(for_expression pattern: (identifier) @definition)
(tuple_pattern (identifier) @definition)
(tuple_struct_pattern type: (_) (identifier) @definition)
(struct_pattern (field_pattern name: (shorthand_field_identifier) @definition))
[(function_item name: (identifier) @definition.outer)
 (struct_item name: (type_identifier) @definition.outer)
 (enum_item name: (type_identifier) @definition.outer)
 (trait_item name: (type_identifier) @definition.outer)
 (type_item name: (type_identifier) @definition.outer)]
[(const_item name: (identifier) @definition) (static_item name: (identifier) @definition)]
(use_declaration argument: (identifier) @definition)
(use_declaration argument: (scoped_identifier name: (identifier) @definition))
(use_as_clause alias: (identifier) @definition)
(use_list (identifier) @definition)
(use_list (scoped_identifier name: (identifier) @definition))

(assignment_expression left: (identifier) @update)
(compound_assignment_expr left: (identifier) @update)

; `Type::f`: `f` is a member, not a local; so is a pattern's type (`Some` in `Some(x)`).
(scoped_identifier name: (identifier) @member)
(tuple_struct_pattern type: (identifier) @member)
[(identifier) (type_identifier)] @reference
