; Core logic: identifiers, literals and operators (see python/core.scm).
[(identifier) (field_identifier) (type_identifier) (primitive_type) (shorthand_field_identifier)] @core
(string_content) @string_content
[(integer_literal) (float_literal) (string_literal) (raw_string_literal) (char_literal)
 (boolean_literal)] @core
[
  "+" "-" "*" "/" "%" "<<" ">>" "&" "|" "^" "!"
  "==" "!=" "<" "<=" ">" ">=" "&&" "||" ".." "..="
  "=" "+=" "-=" "*=" "/=" "%=" "<<=" ">>=" "&=" "|=" "^=" "?"
] @core
