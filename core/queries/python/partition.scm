; Partition: which statements have a header item and bodies that are partitioned again.
; @compound is the statement; each @body block is cut into items of its own, one level deeper.
; Clauses (elif, else, except, finally, case) are compound themselves: they get their own header.
(function_definition body: (block) @body) @compound
(class_definition body: (block) @body) @compound
(if_statement consequence: (block) @body) @compound
(elif_clause consequence: (block) @body) @compound
(else_clause body: (block) @body) @compound
(for_statement body: (block) @body) @compound
(while_statement body: (block) @body) @compound
(try_statement body: (block) @body) @compound
(except_clause (block) @body) @compound
(finally_clause (block) @body) @compound
(with_statement body: (block) @body) @compound
(match_statement body: (block) @body) @compound
(case_clause consequence: (block) @body) @compound

; Decorators join the header of the definition they decorate (its last named child).
(decorated_definition) @wrapper

; Consecutive imports form one item.
[(import_statement) (import_from_statement) (future_import_statement)] @import
