; TypeScript: JavaScript's local names (javascript/locals.scm) and these.
(abstract_class_declaration) @scope
[(required_parameter pattern: (identifier) @definition)
 (optional_parameter pattern: (identifier) @definition)]
(required_parameter pattern: (rest_pattern (identifier) @definition))
[(interface_declaration name: (type_identifier) @definition)
 (type_alias_declaration name: (type_identifier) @definition)
 (enum_declaration name: (identifier) @definition)
 (abstract_class_declaration name: (type_identifier) @definition.outer)]
(type_identifier) @reference
