/// JSON text written by hand where the bytes must not depend on an encoder's choices: results
/// stored and hashed (canonical spec JSON, stored overrides, `runs show --json`).
public enum JSONText {
    /// `s` as a JSON string literal: `"` and `\` escaped, `\n`, `\t` and `\r` by name, other
    /// control characters as `\u00XX`, everything else as it is (no escaping of `/` or non-ASCII).
    public static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
