; Never core: comments (Javadoc included), imports and the package line.
[(line_comment) (block_comment)] @noncore
[(import_declaration) (package_declaration)] @noncore
