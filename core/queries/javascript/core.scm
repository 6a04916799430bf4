; Core logic: identifiers, literals and operators (see python/core.scm).
[(identifier) (property_identifier) (shorthand_property_identifier) (private_property_identifier)] @core
(string_fragment) @string_content
[(number) (string) (template_string) (regex) (true) (false) (null) (undefined)] @core
[
  "+" "-" "*" "/" "%" "**" "<<" ">>" ">>>" "&" "|" "^" "~" "!"
  "==" "===" "!=" "!==" "<" "<=" ">" ">=" "&&" "||" "??"
  "=" "+=" "-=" "*=" "/=" "%=" "**=" "<<=" ">>=" ">>>=" "&=" "|=" "^=" "&&=" "||=" "??="
  "++" "--" "instanceof" "in" "typeof"
] @core
