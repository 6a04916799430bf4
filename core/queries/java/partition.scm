; Partition (see javascript/partition.scm for the captures).
(class_declaration body: (class_body) @body) @compound
(interface_declaration body: (interface_body) @body) @compound
(record_declaration body: (class_body) @body) @compound
(enum_declaration body: (enum_body (enum_body_declarations) @body)) @compound
(method_declaration body: (block) @body) @compound
(constructor_declaration body: (constructor_body) @body) @compound
(compact_constructor_declaration body: (block) @body) @compound
(static_initializer (block) @body) @compound
(if_statement consequence: (block) @body) @compound
(if_statement alternative: (block) @body) @compound
(for_statement body: (block) @body) @compound
(enhanced_for_statement body: (block) @body) @compound
(while_statement body: (block) @body) @compound
(do_statement body: (block) @body) @compound
(try_statement body: (block) @body) @compound
(try_with_resources_statement body: (block) @body) @compound
(catch_clause body: (block) @body) @compound
(finally_clause (block) @body) @compound
(synchronized_statement body: (block) @body) @compound
(switch_expression body: (switch_block) @body) @compound
(switch_block_statement_group) @clause

; Lambdas bound to a name or passed last to a call.
(variable_declarator value: (lambda_expression body: (block) @body) @compound)
(argument_list (lambda_expression body: (block) @body) @compound .)
[(local_variable_declaration) (field_declaration) (expression_statement)] @wrapper

[(import_declaration) (package_declaration)] @import
