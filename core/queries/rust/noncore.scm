; Never core: comments (doc comments included), attributes and imports.
[(line_comment) (block_comment)] @noncore
[(attribute_item) (inner_attribute_item)] @noncore
[(use_declaration) (extern_crate_declaration)] @noncore
