; TypeScript: JavaScript's partition (javascript/partition.scm) and these.
(abstract_class_declaration body: (class_body) @body) @compound
(interface_declaration body: (interface_body) @body) @compound
(internal_module body: (statement_block) @body) @compound
; Decorators of class members stand before them in the class body.
(class_body (decorator) @leading)
