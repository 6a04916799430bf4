; Partition (see javascript/partition.scm for the captures).
(function_item body: (block) @body) @compound
(impl_item body: (declaration_list) @body) @compound
(trait_item body: (declaration_list) @body) @compound
(mod_item body: (declaration_list) @body) @compound
(struct_item body: (field_declaration_list) @body) @compound
(enum_item body: (enum_variant_list) @body) @compound
(if_expression consequence: (block) @body) @compound
(else_clause (block) @body) @compound
(else_clause (if_expression)) @wrapper
(for_expression body: (block) @body) @compound
(while_expression body: (block) @body) @compound
(loop_expression body: (block) @body) @compound
(match_expression body: (match_block) @body) @compound
(match_arm value: (block) @body) @compound
(unsafe_block (block) @body) @compound
(closure_expression body: (block) @body) @compound
; `if`, `match` and loops are expressions: as statements, in a `let`, or returned.
[(expression_statement) (let_declaration) (return_expression)] @wrapper

; Attributes join the item below them.
(attribute_item) @leading
[(use_declaration) (extern_crate_declaration)] @import
