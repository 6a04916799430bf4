; Partition: which statements have a header item and bodies that are partitioned again.
; @compound is the statement; each @body is cut into items of its own, one level deeper.
; @clause: a clause whose statements follow its first `:`. @wrapper: a statement whose last named
; child (or that child's, and so on) may be a compound statement; what comes before joins its
; header. @leading joins the next statement's item. See python/partition.scm.
(function_declaration body: (statement_block) @body) @compound
(generator_function_declaration body: (statement_block) @body) @compound
(class_declaration body: (class_body) @body) @compound
(method_definition body: (statement_block) @body) @compound
(class_static_block body: (statement_block) @body) @compound
(if_statement consequence: (statement_block) @body) @compound
(else_clause (statement_block) @body) @compound
(else_clause (if_statement)) @wrapper
(for_statement body: (statement_block) @body) @compound
(for_in_statement body: (statement_block) @body) @compound
(while_statement body: (statement_block) @body) @compound
(do_statement body: (statement_block) @body) @compound
(try_statement body: (statement_block) @body) @compound
(catch_clause body: (statement_block) @body) @compound
(finally_clause body: (statement_block) @body) @compound
(switch_statement body: (switch_body) @body) @compound
[(switch_case) (switch_default)] @clause

; Functions bound to a name (`const f = (x) => { … }`, `module.exports = function () { … }`) or
; passed last to a call (`app.get("/", (req, res) => { … })`, `it("works", () => { … })`).
(variable_declarator value: [(arrow_function body: (statement_block) @body) (function_expression body: (statement_block) @body)] @compound)
(assignment_expression right: [(arrow_function body: (statement_block) @body) (function_expression body: (statement_block) @body)] @compound)
(arguments [(arrow_function body: (statement_block) @body) (function_expression body: (statement_block) @body)] @compound .)
[(lexical_declaration) (variable_declaration) (export_statement) (expression_statement)
 (labeled_statement)] @wrapper

; Consecutive imports form one item.
(import_statement) @import
