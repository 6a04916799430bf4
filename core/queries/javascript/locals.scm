; Local names for def-use (see names.rs): @scope, @definition, @definition.outer (the scope
; around the innermost one: a function's own name), @update (writes an existing name), @member
; (not a name: overrides the rest), @reference. Parameters are in parameters.scm, which
; TypeScript (whose parameters differ) does not share.
[(function_declaration) (generator_function_declaration) (function_expression) (arrow_function)
 (method_definition) (class_declaration) (statement_block) (for_statement) (for_in_statement)
 (catch_clause)] @scope

(variable_declarator name: (identifier) @definition)
(variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @definition))
(variable_declarator name: (array_pattern (identifier) @definition))
[(function_declaration name: (identifier) @definition.outer)
 (generator_function_declaration name: (identifier) @definition.outer)
 (class_declaration name: (_) @definition.outer)]
(arrow_function parameter: (identifier) @definition)
(catch_clause parameter: (identifier) @definition)
(for_in_statement left: (identifier) @definition)
(import_specifier name: (identifier) @definition !alias)
(import_specifier alias: (identifier) @definition)
(import_clause (identifier) @definition)
(namespace_import (identifier) @definition)

(assignment_expression left: (identifier) @update)
(augmented_assignment_expression left: (identifier) @update)
(update_expression argument: (identifier) @update)

(identifier) @reference
