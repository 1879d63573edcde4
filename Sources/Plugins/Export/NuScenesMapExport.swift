/// The vector-map results file, as the model's own `_format_bbox` writes it (``ExportConventions/Map``):
/// MapTR's `nuscmap_results.json` (`results`, a list) or VAD's map part (`map_results`, keyed by sample token).
///
/// Both evaluators pair predictions with the ground truth by position (MapTR `mean_ap.py` l.152/l.205; VAD
/// `mean_ap.py` l.205 over `gen_results.values()`), so the samples must be the whole val set in info order:
/// the export keeps the input order and refuses a sample token given twice.
public enum NuScenesMapExport {
    /// The submission for `results`, in the given (dataset) order.
    /// - Throws: ``PluginError`` when a result has no map elements section or no sample id, or a token repeats.
    public static func submission(_ results: [StandardResult], conventions: ExportConventions = ExportConventions()) throws(PluginError) -> JSONValue {
        var samples: [(String, JSONValue)] = []
        var seen: Set<String> = []
        for result in results {
            guard let elements = result.mapElements else {
                throw PluginError(.unsupportedExport, "the nuscmap format needs map elements; model \(result.meta.model) gives none")
            }
            guard let token = result.meta.sampleID else {
                throw PluginError(.invalidValue, "a result has no sample_id: nuscmap results name their sample token")
            }
            guard seen.insert(token).inserted else {
                throw PluginError(.invalidValue, "sample token '\(token)' appears twice: the map evaluators pair results with the val set by position")
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
            samples.append((token, .object([("sample_token", .string(token)), ("vectors", .array(vectors))])))
        }
        // `'meta': self.modality`: the config's input_modality (MapTR nuscenes_map_dataset.py l.1315, VAD l.1550).
        switch conventions.map {
        case .maptr:
            return .object([("meta", conventions.nuScenesMeta), ("results", .array(samples.map(\.1)))])
        case .vad:
            return .object([("meta", conventions.nuScenesMeta), ("map_results", .object(samples))])
        }
    }
}
