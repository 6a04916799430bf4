; Never core: comments, imports and the package line.
(comment) @noncore
[(import_declaration) (package_clause)] @noncore
