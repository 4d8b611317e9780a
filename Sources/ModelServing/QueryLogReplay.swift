import Foundation
public import QueryDetection
import Tensors

/// The query log replayed offline: every client's admitted queries (from the log's inputs file)
/// through stateful detectors, as if each had watched that client from its first query. The
/// model answers the queries again for the detectors that group by answer (PRADA); a served
/// model is deterministic, so these are the labels the clients saw.
public enum QueryLogReplay {
    public enum DetectorName: String, CaseIterable, Sendable { case blacklight, prada }

    /// One client's stream through one detector.
    public struct Report: Sendable, Equatable {
        public var token: String
        public var detector: DetectorName
        public var outcome: StreamOutcome
    }

    /// Replays every token's stream (tokens in name order, detectors in the order given).
    /// - Throws: `ServingError` for an inputs file that does not match the log or the model,
    ///   `QueryDetectionError` for a detector that cannot watch inputs of this width.
    public static func run(_ entries: [QueryLogEntry], inputs: URL, model: ServedModel,
                           detectors: [DetectorName]) throws -> [Report] {
        let width = model.inputWidth
        let streams = try QueryLog.streams(entries, inputs: inputs, width: width)
        var reports: [Report] = []
        for token in streams.keys.sorted() {
            let rows = streams[token]!
            let n = rows.count / width
            var answers: [Int] = []
            answers.reserveCapacity(n)
            var start = 0
            while start < n {
                let end = min(n, start + 1024)
                let batch = Tensor(shape: [end - start] + model.inputShape, scalars: Array(rows[start * width..<end * width]))
                answers += model.model.predictedLabels(for: batch)
                start = end
            }
            for name in detectors {
                let outcome: StreamOutcome
                switch name {
                case .blacklight:
                    // The setting `serve --detector blacklight` watches clients with.
                    guard var d = ModelService.detector(ServingToken(id: "replay", sha256: String(repeating: "0", count: 64), detector: .blacklight),
                                                        width: width) else { throw ServingError("Blacklight cannot watch inputs of \(width) values") }
                    outcome = try d.replay(queries: rows, answers: answers)
                case .prada:
                    var d = try PRADA(inputWidth: width)
                    outcome = try d.replay(queries: rows, answers: answers)
                }
                reports.append(Report(token: token, detector: name, outcome: outcome))
            }
        }
        return reports
    }
}
