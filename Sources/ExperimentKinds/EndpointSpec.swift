import ExperimentSpecs
import Foundation
import ModelEndpoint

/// A target reached over HTTP instead of a model the lab trains: the `endpoint:` key of a kind's
/// model section (`victim:` in `extraction`), for a server speaking `privacy-lab serve`'s protocol.
///
/// ```yaml
/// victim: {endpoint: "http://127.0.0.1:8081", token_env: PRIVACY_LAB_ENDPOINT_TOKEN, rows_per_request: 256}
/// ```
///
/// The token is read from the environment variable named by `token_env` when the trial runs,
/// never from the spec (so it is not stored with the run, nor part of any key); a missing
/// variable is an error naming it. The trial's key holds the URL and the variable's name only:
/// a trial against an endpoint is reused from the store like any other, so point a spec at a
/// changed model under a new `name:` (or a fresh store).
public struct EndpointSpec: Sendable, Equatable {
    public var url: URL
    public var tokenVariable: String
    public var rowsPerRequest: Int
    /// `members` (membership-inference only): an `.npy` of one 0/1 per record of the data, which
    /// records trained the model behind the endpoint.
    public var members: URL?

    public static let defaultTokenVariable = "PRIVACY_LAB_ENDPOINT_TOKEN"

    /// Reads `endpoint`, `token_env` and `rows_per_request` of a model section that names an
    /// endpoint, refusing any other key beside them (the model behind the endpoint is not built here).
    static func decode(_ r: SpecReader, members readsMembers: Bool = false) throws(SpecError) -> EndpointSpec {
        let members = readsMembers ? try r.inputFile("members") : nil
        let text: String = try r.required("endpoint")
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil, url.query == nil, url.fragment == nil else {
            throw r.error("endpoint", "'\(text.prefix(200))' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT")
        }
        let variable: String = try r.optional("token_env", default: defaultTokenVariable)
        guard !variable.isEmpty, variable.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw r.error("token_env", "'\(variable.prefix(80))' is not an environment variable's name")
        }
        let rows = try r.optional("rows_per_request", default: 256, in: 1...1024)
        try r.finish()
        return EndpointSpec(url: url, tokenVariable: variable, rowsPerRequest: rows, members: members)
    }

    /// Connects with the token of `tokenVariable`.
    /// - Throws: `EndpointError` naming the variable when it is unset, or the endpoint's refusal.
    func connect() throws -> EndpointModel {
        guard let token = ProcessInfo.processInfo.environment[tokenVariable], !token.isEmpty else {
            throw EndpointError("the endpoint \(url.absoluteString) needs its token in the environment variable \(tokenVariable), which is not set")
        }
        return try EndpointModel(url: url, token: token, rowsPerRequest: rowsPerRequest)
    }
}
