; TypeScript: JavaScript's core (javascript/core.scm) and types.
[(type_identifier) (predefined_type)] @core
