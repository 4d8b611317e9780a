import ExperimentKinds
import ExperimentRunning
import ExperimentSpecs
import Foundation
import Testing

@Suite("Experiment specs")
struct SpecTests {
    let kinds = ExperimentRunner(kinds: [AnyExperimentKind(TrainKind.self)])

    func planError(_ yaml: String, overrides: [String] = []) -> SpecError? {
        do { _ = try kinds.plan(specText: yaml, file: "exp.yaml", overrides: overrides); return nil } catch { return error }
    }

    static let valid = """
    version: 1
    name: t
    kind: train
    seed: 3
    data: {dataset: synthetic-gaussian, samples: 100}
    model:
      architecture: mlp
      hidden: [8]
      epochs: 2
    """

    @Test("a valid spec plans one trial with typed parameters")
    func validSpec() throws {
        let plan = try kinds.plan(specText: Self.valid, file: "exp.yaml", overrides: [])
        #expect(plan.document.name == "t" && plan.document.seed == 3 && plan.trials.count == 1)
        let parameters = try #require(plan.trials[0].1 as? TrainKind.Parameters)
        #expect(parameters.model.hidden == [8] && parameters.model.training.epochs == 2)
    }

    @Test("errors name the file, the line, the key path and what was expected")
    func errorMessages() {
        let cases: [(String, [String], String)] = [
            (Self.valid.replacingOccurrences(of: "  epochs: 2", with: "  epohcs: 2"), [],
             "exp.yaml:9: model.epohcs: unknown key (did you mean 'epochs'?)"),
            (Self.valid.replacingOccurrences(of: "  epochs: 2", with: "  epochs: two"), [], "exp.yaml:9: model.epochs: expected an integer, got 'two'"),
            (Self.valid.replacingOccurrences(of: "  epochs: 2", with: "  epochs: -1"), [], "exp.yaml:9: model.epochs: must lie in 0…100000, got -1"),
            (Self.valid.replacingOccurrences(of: "synthetic-gaussian", with: "mnsit"), [], "exp.yaml:5: data.dataset: unknown dataset 'mnsit' (did you mean 'mnist'?)"),
            (Self.valid.replacingOccurrences(of: "kind: train", with: "kind: trian"), [], "exp.yaml:3: kind: unknown experiment kind 'trian' (did you mean 'train'?)"),
            (Self.valid.replacingOccurrences(of: "version: 1", with: "version: 2"), [], "exp.yaml:1: version: spec version 2 is not supported"),
            (Self.valid.replacingOccurrences(of: "architecture: mlp", with: "architecture: mpl"), [], "model.architecture: unknown value 'mpl' (did you mean 'mlp'?)"),
            (Self.valid + "\nmodle: {}\n", [], "exp.yaml:10: modle: unknown key (did you mean 'model'?)"),
            (Self.valid.replacingOccurrences(of: "hidden: [8]", with: "hidden: [8"), [], "malformed YAML: while parsing a flow sequence in line 8"),
            (Self.valid, ["model.epochs=abc"], "exp.yaml: model.epochs: expected an integer, got 'abc'"),
            (Self.valid, ["noequals"], "--set 'noequals' is not of the form key=value"),
            (Self.valid.replacingOccurrences(of: "seed: 3", with: "seed: 3\nsweep: {model.epochs: []}"), [], "sweep.model.epochs: expected a non-empty list"),
            (Self.valid + "\nsweep: {model.epochs: [1, 2]}\n", ["model.epochs=5"],
             "exp.yaml: model.epochs: --set model.epochs: the spec sweeps sweep.model.epochs (2 values); change the sweep in the spec instead"),
            (Self.valid + "\nsweep: {model.epochs: [1, 2]}\n", ["model={epochs: 5}"], "--set model: the spec sweeps sweep.model.epochs"),
        ]
        for (yaml, overrides, expected) in cases {
            let error = planError(yaml, overrides: overrides)
            #expect(error?.description.contains(expected) == true, "expected “\(expected)”, got “\(error?.description ?? "no error")”")
        }
    }

    @Test("--set overrides keys, adding missing ones")
    func overrides() throws {
        let plan = try kinds.plan(specText: Self.valid, file: "exp.yaml", overrides: ["model.epochs=7", "model.hidden=[4, 4]", "seed=11"])
        let parameters = try #require(plan.trials[0].1 as? TrainKind.Parameters)
        #expect(parameters.model.training.epochs == 7 && parameters.model.hidden == [4, 4])
        #expect(plan.document.seed == 11)
    }

    @Test("a sweep expands to the cross product, first key slowest")
    func sweepExpansion() throws {
        let yaml = Self.valid + "\nsweep:\n  model.epochs: [1, 2, 3]\n  model.hidden: [[4], [8]]\n  seed: [1, 2]\n"
        let plan = try kinds.plan(specText: yaml, file: "exp.yaml", overrides: [])
        #expect(plan.trials.count == 12)
        #expect(plan.trials.map { $0.0.index } == Array(0..<12))
        #expect(plan.trials[0].0.parametersJSON == #"{"model.epochs":1,"model.hidden":[4],"seed":1}"#)
        #expect(plan.trials[1].0.parametersJSON == #"{"model.epochs":1,"model.hidden":[4],"seed":2}"#)
        #expect(plan.trials[11].0.parametersJSON == #"{"model.epochs":3,"model.hidden":[8],"seed":2}"#)
        #expect(plan.trials[11].0.seed == 2)
        let last = try #require(plan.trials[11].1 as? TrainKind.Parameters)
        #expect(last.model.training.epochs == 3 && last.model.hidden == [8])
        // An error inside one trial's values names that trial.
        let bad = Self.valid + "\nsweep:\n  model.epochs: [1, -4]\n"
        #expect(planError(bad)?.description.contains(#"(in the trial with {"model.epochs":-4})"#) == true)
    }
}
