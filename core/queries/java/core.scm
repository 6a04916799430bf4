; Core logic: identifiers, literals and operators (see python/core.scm).
[(identifier) (type_identifier)] @core
(string_fragment) @string_content
[(decimal_integer_literal) (hex_integer_literal) (octal_integer_literal) (binary_integer_literal)
 (decimal_floating_point_literal) (hex_floating_point_literal) (character_literal)
 (string_literal) (true) (false) (null_literal)] @core
[
  "+" "-" "*" "/" "%" "<<" ">>" ">>>" "&" "|" "^" "~" "!"
  "==" "!=" "<" "<=" ">" ">=" "&&" "||"
  "=" "+=" "-=" "*=" "/=" "%=" "<<=" ">>=" ">>>=" "&=" "|=" "^="
  "++" "--" "instanceof"
] @core
