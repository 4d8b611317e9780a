// libFuzzer runs fuzzNotebook (see FuzzNotebook.swift).
import FuzzSupport

runFuzzer(fuzzNotebook)
