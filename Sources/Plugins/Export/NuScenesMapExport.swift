/// MapTR's `nuscmap_results.json` vector format, for MapTR results and VAD's map elements.
public enum NuScenesMapExport {
    /// The submission: `results` is a list in the given (dataset) order.
    /// - Throws: ``PluginError`` when a result has no map elements section or no sample id.
    public static func submission(_ results: [StandardResult]) throws(PluginError) -> JSONValue {
        var samples: [JSONValue] = []
        for result in results {
            guard let elements = result.mapElements else {
                throw PluginError(.unsupportedExport, "the nuscmap format needs map elements; model \(result.meta.model) gives none")
            }
            guard let token = result.meta.sampleID else {
                throw PluginError(.invalidValue, "a result has no sample_id: nuscmap results name their sample token")
            }
            let vectors: [JSONValue] = elements.map { element in
                .object([
                    ("pts", .array(element.polylineLidar.map { NuScenesExport.numbers($0) })),
                    ("pts_num", .number(Double(element.polylineLidar.count))),
                    ("cls_name", .string(element.label)),
                    ("type", .number(Double(element.labelIndex))),
                    ("confidence_level", .number(element.score)),
                ])
            }
            samples.append(.object([("sample_token", .string(token)), ("vectors", .array(vectors))]))
        }
        // MapTR's input_modality (camera only, external data allowed).
        return .object([
            ("meta", .object([
                ("use_lidar", .bool(false)), ("use_camera", .bool(true)), ("use_radar", .bool(false)),
                ("use_map", .bool(false)), ("use_external", .bool(true)),
            ])),
            ("results", .array(samples)),
        ])
    }
}
