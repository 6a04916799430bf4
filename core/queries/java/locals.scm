; Local names (see javascript/locals.scm for the captures).
[(class_declaration) (interface_declaration) (record_declaration) (enum_declaration)
 (method_declaration) (constructor_declaration) (lambda_expression) (block) (for_statement)
 (enhanced_for_statement) (catch_clause)] @scope

(variable_declarator name: (identifier) @definition)
(formal_parameter name: (identifier) @definition)
(catch_formal_parameter name: (identifier) @definition)
(enhanced_for_statement name: (identifier) @definition)
(lambda_expression parameters: (identifier) @definition)
(inferred_parameters (identifier) @definition)
[(method_declaration name: (identifier) @definition.outer)
 (class_declaration name: (identifier) @definition.outer)
 (interface_declaration name: (identifier) @definition.outer)
 (record_declaration name: (identifier) @definition.outer)
 (enum_declaration name: (identifier) @definition.outer)]

(assignment_expression left: (identifier) @update)
(update_expression (identifier) @update)

; `a.b` and `a.f()`: the name after the dot is a member, not a local.
(field_access field: (identifier) @member)
(method_invocation object: (_) name: (identifier) @member)
[(identifier) (type_identifier)] @reference
