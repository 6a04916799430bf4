; Core logic: identifiers, literals and operators (see python/core.scm).
[(identifier) (field_identifier) (package_identifier) (type_identifier)] @core
[(interpreted_string_literal_content) (raw_string_literal_content)] @string_content
[(int_literal) (float_literal) (imaginary_literal) (rune_literal) (interpreted_string_literal)
 (raw_string_literal) (true) (false) (nil) (iota)] @core
[
  "+" "-" "*" "/" "%" "<<" ">>" "&" "|" "^" "&^" "!"
  "==" "!=" "<" "<=" ">" ">=" "&&" "||" "<-"
  "=" ":=" "+=" "-=" "*=" "/=" "%=" "<<=" ">>=" "&=" "|=" "^=" "&^="
  "++" "--"
] @core
