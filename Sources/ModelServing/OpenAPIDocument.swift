import Codecs

/// The OpenAPI 3.1 description of the prediction service, served at `/openapi.json`.
enum OpenAPIDocument {
    static func text(_ served: ServedModel) -> String {
        let width = served.inputWidth
        return """
        {"openapi":"3.1.0",
        "info":{"title":\(JSONText.string("PrivacyLab model endpoint: " + served.name)),"version":"1"},
        "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}},
         "schemas":{
          "Error":{"type":"object","required":["error"],"properties":{"error":{"type":"string"}}},
          "PredictRequest":{"type":"object","required":["inputs"],"properties":{"inputs":{"type":"array","minItems":1,"maxItems":\(ModelService.maximumRows),
            "items":{"type":"array","minItems":\(width),"maxItems":\(width),"items":{"type":"number"}},
            "description":"Rows of \(width) values: inputs of shape \(served.inputShape), flattened in row-major order."}}},
          "Prediction":{"type":"object","required":["label"],"properties":{"label":{"type":"integer"},
            "classes":{"type":"array","items":{"type":"integer"},"description":"The classes whose probabilities the token's output policy shows."},
            "probabilities":{"type":"array","items":{"type":"number"}}}},
          "PredictResponse":{"type":"object","required":["predictions","output"],"properties":{
            "predictions":{"type":"array","items":{"$ref":"#/components/schemas/Prediction"}},
            "output":{"type":"string","description":"The token's output policy: full, label-only, top-K (renormalised), top-K-raw or round-D."}}}}},
        "paths":{
         "/v1/health":{"get":{"summary":"Liveness","responses":{"200":{"description":"The server answers."}}}},
         "/v1/model":{"get":{"summary":"The served model's input shape and classes","security":[{"bearer":[]}],
           "responses":{"200":{"description":"The model."},"401":{"description":"No token, an unknown or an expired one.","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}}}},
         "/v1/predict":{"post":{"summary":"Predict the classes of inputs","security":[{"bearer":[]}],
           "requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/PredictRequest"}}}},
           "responses":{
            "200":{"description":"One prediction per input row.","content":{"application/json":{"schema":{"$ref":"#/components/schemas/PredictResponse"}}}},
            "400":{"description":"A malformed body or inputs of the wrong shape.","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}},
            "401":{"description":"No token, an unknown or an expired one."},
            "403":{"description":"The token's query budget is exhausted, or the client is blocked by its detector."},
            "413":{"description":"The body is larger than the server accepts."},
            "429":{"description":"Over the token's rate; Retry-After says when to retry."}}}}}}
        """
    }
}
