import ExperimentRunning

/// The experiment kinds this build of PrivacyLab runs, in the order `privacy-lab run --help`
/// lists them. The command-line tool, the notebooks and the tests all read this one list, so a
/// new kind is registered by adding one line here.
public enum ExperimentCatalog {
    public static let kinds: [AnyExperimentKind] = [
        AnyExperimentKind(TrainKind.self),
        AnyExperimentKind(MembershipInferenceKind.self),
        AnyExperimentKind(AuditKind.self),
        AnyExperimentKind(DPTrainingKind.self),
        AnyExperimentKind(ModelInversionKind.self),
        AnyExperimentKind(FederatedKind.self),
        AnyExperimentKind(EvasionKind.self),
        AnyExperimentKind(PoisoningKind.self),
        AnyExperimentKind(BackdoorKind.self),
        AnyExperimentKind(DriftKind.self),
        AnyExperimentKind(QueryDetectionKind.self),
        AnyExperimentKind(ExtractionKind.self),
    ]
}
