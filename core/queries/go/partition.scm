; Partition (see javascript/partition.scm for the captures). Go's blocks hold a statement list.
(function_declaration body: (block (statement_list) @body)) @compound
(method_declaration body: (block (statement_list) @body)) @compound
(func_literal body: (block (statement_list) @body)) @compound
(if_statement consequence: (block (statement_list) @body)) @compound
(if_statement alternative: (block (statement_list) @body)) @compound
(for_statement body: (block (statement_list) @body)) @compound
[(expression_switch_statement) (type_switch_statement) (select_statement)] @compound
[(expression_case) (default_case) (type_case) (communication_case)] @compound
(expression_case (statement_list) @body) @compound
(default_case (statement_list) @body) @compound
(type_case (statement_list) @body) @compound
(communication_case (statement_list) @body) @compound
(type_declaration (type_spec type: [(struct_type (field_declaration_list) @body) (interface_type) @body])) @compound
[(var_declaration) (short_var_declaration) (assignment_statement) (expression_statement)
 (go_statement) (defer_statement)] @wrapper

[(import_declaration) (package_clause)] @import
