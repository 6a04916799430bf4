; Never core, even where they hold core nodes: comments, docstrings and import boilerplate.
(comment) @noncore
(module . (expression_statement (string)) @noncore)
(function_definition body: (block . (expression_statement (string)) @noncore))
(class_definition body: (block . (expression_statement (string)) @noncore))
[(import_statement) (import_from_statement) (future_import_statement)] @noncore
