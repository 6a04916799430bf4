; Never core: comments (JSDoc included) and imports.
(comment) @noncore
(import_statement) @noncore
