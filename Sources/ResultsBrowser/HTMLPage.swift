/// Text escaped for HTML element content and quoted attribute values.
func html(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}

/// A query string's component, percent-encoded (everything but unreserved characters).
func urlComponent(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let digits = Array("0123456789ABCDEF".unicodeScalars)
            out += "%"
            out.unicodeScalars.append(digits[Int(byte >> 4)])
            out.unicodeScalars.append(digits[Int(byte & 0xF)])
        }
    }
    return out
}

/// A path with query items, encoded (`/trial?run=r-1&index=0`).
func link(_ path: String, _ items: [(String, String)]) -> String {
    items.isEmpty ? path : path + "?" + items.map { "\(urlComponent($0.0))=\(urlComponent($0.1))" }.joined(separator: "&")
}

/// How a page is rendered: served (links, forms, export buttons) or exported as one file that
/// opens without a server (no links to the server, no forms; figures and style inline).
enum PageMode: Equatable {
    case served
    case exported

    var isServed: Bool { self == .served }
}

/// The chrome around every page: one inline style sheet, no scripts, no external resources
/// (the Content-Security-Policy the server sends forbids them anyway).
enum HTMLPage {
    static let style = """
    body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em 2em;color:#222;background:#fff}
    h1{font-size:1.45em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
    a{color:#1f5fa8;text-decoration:none}a:hover{text-decoration:underline}
    nav{margin-bottom:1em;font-size:.92em;color:#555}nav a{margin-right:1em}
    table{border-collapse:collapse;font-size:.9em;margin:.4em 0}
    th,td{border:1px solid #ddd;padding:.25em .55em;text-align:left;vertical-align:top}
    th{background:#f4f6f8;position:sticky;top:0}td.id{white-space:nowrap;font-family:ui-monospace,monospace;font-size:.9em}td.num{text-align:right;font-variant-numeric:tabular-nums}
    tr:nth-child(even) td{background:#fafbfc}
    form.filters{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:flex-end;background:#f4f6f8;padding:.7em 1em;border-radius:6px}
    form.filters label{display:flex;flex-direction:column;font-size:.82em;color:#444}
    input[type=text],select{font:inherit;font-size:.95em;padding:.2em .35em;min-width:9em}
    button{font:inherit;padding:.25em .8em;cursor:pointer}
    .actions{margin:.6em 0;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
    .muted{color:#666;font-size:.88em}.error{color:#a00}.status-complete{color:#176b2c}.status-failed,.status-crashed{color:#a00}
    pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:.7em;overflow:auto;font-size:.85em;max-height:32em}
    figure{margin:1em 0}figure svg{max-width:100%;height:auto}figure img{image-rendering:pixelated;max-width:100%}
    dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;font-size:.92em}dl.facts dt{color:#555}dl.facts dd{margin:0}
    """

    /// A complete HTML document.
    static func document(title: String, body: String, mode: PageMode) -> String {
        var page = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        page += "<title>\(html(title))</title>\n<style>\n\(style)</style>\n</head>\n<body>\n"
        if mode.isServed {
            page += "<nav><a href=\"/\">All runs</a><span class=\"muted\">PrivacyLab results browser</span></nav>\n"
        } else {
            page += "<nav><span class=\"muted\">Exported from the PrivacyLab results browser</span></nav>\n"
        }
        page += body
        return page + "</body>\n</html>\n"
    }

    /// An anchor when served; the text alone when exported (the server is not there to follow it).
    static func anchor(_ text: String, href: String, mode: PageMode) -> String {
        mode.isServed ? "<a href=\"\(html(href))\">\(html(text))</a>" : html(text)
    }
}
