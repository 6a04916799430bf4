; Local names (see javascript/locals.scm for the captures).
[(function_declaration) (method_declaration) (func_literal) (block) (for_statement)
 (if_statement) (expression_case) (default_case) (type_case) (communication_case)] @scope

(short_var_declaration left: (expression_list (identifier) @definition))
(var_spec name: (identifier) @definition)
(const_spec name: (identifier) @definition)
(parameter_declaration name: (identifier) @definition)
(variadic_parameter_declaration name: (identifier) @definition)
(range_clause left: (expression_list (identifier) @definition))
(type_switch_statement alias: (expression_list (identifier) @definition))
(type_spec name: (type_identifier) @definition)
(function_declaration name: (identifier) @definition.outer)
(import_spec name: (package_identifier) @definition)

(assignment_statement left: (expression_list (identifier) @update))
(inc_statement (identifier) @update)
(dec_statement (identifier) @update)

[(identifier) (type_identifier) (package_identifier)] @reference
