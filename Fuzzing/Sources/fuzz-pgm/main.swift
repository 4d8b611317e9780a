// libFuzzer runs fuzzPGM (see FuzzPGM.swift).
import FuzzSupport

runFuzzer(fuzzPGM)
