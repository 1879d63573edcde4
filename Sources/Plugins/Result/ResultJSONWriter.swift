extension StandardResult {
    /// The result as compact JSON with sorted keys: the document `JSONEncoder` makes from the `Codable`
    /// conformance, written directly. Every inference response carries one (VAD's is over 200 KB), and
    /// Foundation's encoder spent several milliseconds on it.
    /// - Throws: ``PluginError`` `.invalidValue` when a number is not finite (JSON cannot hold it).
    public func jsonBytes() throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        try writeJSON(into: &out)
        return out
    }

    /// Appends the document ``jsonBytes()`` makes to `out`: a caller that renders one result after
    /// another (the inference routes) passes the same buffer again, emptied, so its memory is reused
    /// instead of mapped afresh (and page-faulted in) for each one.
    /// - Throws: ``PluginError`` `.invalidValue` when a number is not finite; `out` then holds a
    ///   partial document, which the caller discards.
    public func writeJSON(into out: inout [UInt8]) throws(PluginError) {
        try writeJSON(into: &out, helper: nil)
    }

    /// ``writeJSON(into:)``, with a large result's detections written partly on `helper`'s thread
    /// while this thread writes the rest (``SharedRender``): the same bytes, sooner when a core is idle.
    public func writeJSON(into out: inout [UInt8], helper: (any RenderHelper)?) throws(PluginError) {
        var writer = ResultJSONWriter(out: [])
        swap(&writer.out, &out)  // moves the buffer in and out: no copy
        defer { swap(&writer.out, &out) }
        writer.out.reserveCapacity(writer.out.count + estimatedSize)
        if let helper, let shared = SharedRender(self) {
            let work = { @Sendable in shared.work() }
            if helper.offer(work) {
                writer.openDetections()
                shared.work()
                shared.wait()
                try shared.append(to: &writer.out)
                return
            }
        }
        try writer.write(self)
    }

    /// Roughly the bytes the detections take (a box, and about 40 bytes a trajectory point).
    var estimatedDetectionBytes: Int {
        (detections ?? []).reduce(0) { $0 + 200 + 40 * ($1.trajectoriesLidar.map { $0.count * $0.pointsPerList } ?? 0) }
    }

    /// Roughly the bytes the result takes (about 19 a number), so the writer allocates once.
    var estimatedSize: Int {
        let detections = estimatedDetectionBytes
        let map = (mapElements ?? []).reduce(0) { $0 + 200 + 40 * $1.polylineLidar.count }
        let lanes = (laneCenterlines ?? []).reduce(0) { $0 + 100 + 60 * $1.pointsEgo.count }
        let pairs = ((topology?.laneLane.count ?? 0) + (topology?.laneTraffic.count ?? 0)) * 60
        let dense = ((topology?.laneLaneDense ?? []) + (topology?.laneTrafficDense ?? [])).reduce(0) { $0 + 20 * $1.count }
        return 4096 + detections + map + lanes + pairs + dense + (trafficElements?.count ?? 0) * 150 + (raw == nil ? 0 : 1 << 16)
    }
}

/// Keys are written in sorted order, each type's list spelled out; `ResultJSONWriterTests` checks the
/// output against `JSONEncoder` for every model, so a field added to a type but not here fails there.
struct ResultJSONWriter {
    var out: [UInt8]
    /// Per open object or array: true until its first member is written.
    private var empty: [Bool] = []

    init(out: [UInt8]) { self.out = out }

    /// A writer that continues a document inside the containers `open` lists, outermost first (each true
    /// until its first member is written): ``SharedRender``'s pieces.
    init(out: [UInt8], open: [Bool]) {
        self.out = out
        self.empty = open
    }

    mutating func write(_ result: StandardResult) throws(PluginError) {
        if let detections = result.detections {
            openDetections()
            try self.detections(detections[...])
            try closeDetections(result)
        } else {
            open("{")
            try rest(result)
        }
    }

    /// `{"detections":[`: the document's start when it has detections.
    mutating func openDetections() {
        open("{")
        key("detections")
        open("[")
    }

    /// Detections, each after a comma but the first of the list.
    mutating func detections(_ detections: ArraySlice<Detection3D>) throws(PluginError) {
        for detection in detections { element(); try write(detection) }
    }

    /// `]` after the detections, then the rest of the document.
    mutating func closeDetections(_ result: StandardResult) throws(PluginError) {
        close("]")
        try rest(result)
    }

    /// The members after `detections`, in key order, and the closing brace.
    private mutating func rest(_ result: StandardResult) throws(PluginError) {
        if let plan = result.egoPlan { key("ego_plan"); try write(plan) }
        if let lanes = result.laneCenterlines {
            key("lane_centerlines")
            open("[")
            for lane in lanes {
                element()
                open("{")
                field("id", lane.id)
                try field("points_ego", lane.pointsEgo)
                try field("score", lane.score)
                close("}")
            }
            close("]")
        }
        if let elements = result.mapElements {
            key("map_elements")
            open("[")
            for item in elements {
                element()
                open("{")
                try field("bbox_lidar", item.bboxLidar)
                field("label", item.label)
                field("label_index", item.labelIndex)
                try field("polyline_lidar", item.polylineLidar)
                try field("score", item.score)
                close("}")
            }
            close("]")
        }
        key("meta")
        try write(result.meta)
        if let raw = result.raw {
            key("raw")
            try JSONWriter.append(raw, to: &out, indent: nil, nonFiniteAsNull: true)
        }
        field("schema_version", result.schemaVersion)
        if let topology = result.topology { key("topology"); try write(topology) }
        if let traffic = result.trafficElements {
            key("traffic_elements")
            open("[")
            for item in traffic {
                element()
                open("{")
                field("attribute", item.attribute)
                field("attribute_index", item.attributeIndex)
                try field("bbox_image_front", item.bboxImageFront)
                field("id", item.id)
                try field("score", item.score)
                close("}")
            }
            close("]")
        }
        close("}")
    }

    private mutating func write(_ meta: ResultMeta) throws(PluginError) {
        open("{")
        if let convention = meta.boxConvention { field("box_convention", convention) }
        field("checkpoint", meta.checkpoint)
        field("model", meta.model)
        field("plugin_version", meta.pluginVersion)
        if let sample = meta.sampleID { field("sample_id", sample) }
        try field("score_threshold", meta.scoreThreshold)
        key("timings_seconds")
        open("{")
        for name in meta.timingsSeconds.keys.sorted() {
            guard let seconds = meta.timingsSeconds[name] else { continue }
            element()
            JSONWriter.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
            try number(seconds)
        }
        close("}")
        key("warnings")
        open("[")
        for warning in meta.warnings { element(); JSONWriter.appendString(warning, to: &out) }
        close("]")
        close("}")
    }

    private mutating func write(_ detection: Detection3D) throws(PluginError) {
        open("{")
        try field("center_lidar", detection.centerLidar)
        field("label", detection.label)
        field("label_index", detection.labelIndex)
        try field("score", detection.score)
        try field("size_wlh", detection.sizeWlh)
        if let trajectories = detection.trajectoriesLidar {
            key("trajectories_lidar")
            try points(trajectories)
        }
        if let step = detection.trajectoryStepSeconds { try field("trajectory_step_seconds", step) }
        try field("velocity_lidar", detection.velocityLidar)
        try field("yaw_lidar", detection.yawLidar)
        close("}")
    }

    private mutating func write(_ plan: EgoPlan) throws(PluginError) {
        open("{")
        key("candidates")
        open("[")
        for candidate in plan.candidates {
            element()
            open("{")
            field("command", candidate.command)
            try field("trajectory_lidar", candidate.trajectoryLidar)
            close("}")
        }
        close("]")
        field("command", plan.command)
        field("command_index", plan.commandIndex)
        try field("step_seconds", plan.stepSeconds)
        try field("trajectory_lidar", plan.trajectoryLidar)
        close("}")
    }

    private mutating func write(_ topology: Topology) throws(PluginError) {
        open("{")
        try pairs("lane_lane", topology.laneLane)
        if let dense = topology.laneLaneDense { try field("lane_lane_dense", dense) }
        try pairs("lane_traffic", topology.laneTraffic)
        if let dense = topology.laneTrafficDense { try field("lane_traffic_dense", dense) }
        try field("threshold", topology.threshold)
        close("}")
    }

    private mutating func pairs(_ name: StaticString, _ pairs: [Topology.Pair]) throws(PluginError) {
        key(name)
        open("[")
        for pair in pairs {
            element()
            open("{")
            field("from", pair.from)
            try field("probability", pair.probability)
            field("to", pair.to)
            close("}")
        }
        close("]")
    }

    // MARK: Pieces

    private mutating func open(_ bracket: Unicode.Scalar) {
        out.append(UInt8(ascii: bracket))
        empty.append(true)
    }

    private mutating func close(_ bracket: Unicode.Scalar) {
        out.append(UInt8(ascii: bracket))
        empty.removeLast()
    }

    /// The comma before every member but the first.
    private mutating func element() {
        if empty[empty.count - 1] {
            empty[empty.count - 1] = false
        } else {
            out.append(UInt8(ascii: ","))
        }
    }

    /// `"name":`. The keys are the schema's own literals, plain ASCII with nothing to escape: copied whole,
    /// with no scan for characters to escape (a VAD result writes ~1,500 of them).
    private mutating func key(_ name: StaticString) {
        element()
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    private mutating func field(_ name: StaticString, _ text: String) {
        key(name)
        JSONWriter.appendString(text, to: &out)
    }

    private mutating func field(_ name: StaticString, _ integer: Int) {
        key(name)
        JSONWriter.appendInteger(Int64(integer), to: &out)
    }

    private mutating func field(_ name: StaticString, _ number: Double) throws(PluginError) {
        key(name)
        try self.number(number)
    }

    private mutating func field(_ name: StaticString, _ values: [Double]) throws(PluginError) {
        key(name)
        try numbers(values)
    }

    private mutating func field(_ name: StaticString, _ rows: [[Double]]) throws(PluginError) {
        key(name)
        try numbers(rows)
    }

    private mutating func field(_ name: StaticString, _ list: PointList) throws(PluginError) {
        key(name)
        try list.coordinates.withUnsafeBufferPointer { (values) throws(PluginError) in
            try points(values, count: list.count, dimension: list.dimension)
        }
    }

    private mutating func number(_ value: Double) throws(PluginError) {
        guard value.isFinite else { throw PluginError(.invalidValue, "cannot encode the result as JSON: the number \(value) is not finite") }
        JSONWriter.appendNumber(value, to: &out)
    }

    // The lists are walked through their buffers: a VAD result has ~5,000 small arrays, and iterating
    // them as arrays retained and released each one.
    private mutating func numbers(_ values: [Double]) throws(PluginError) {
        try values.withUnsafeBufferPointer { (values) throws(PluginError) in try numbers(values) }
    }

    private mutating func numbers(_ values: UnsafeBufferPointer<Double>) throws(PluginError) {
        try lists(values, lists: 1, points: 1, dimension: values.count, depth: 1)
    }

    /// `[[x, y], …]` from a flat buffer: no array a point to retain and release.
    private mutating func points(_ values: UnsafeBufferPointer<Double>, count: Int, dimension: Int) throws(PluginError) {
        try lists(values, lists: 1, points: count, dimension: dimension, depth: 2)
    }

    /// `[[[x, y], …], …]` from one flat buffer.
    private mutating func points(_ lists: PointLists) throws(PluginError) {
        try lists.coordinates.withUnsafeBufferPointer { (values) throws(PluginError) in
            try self.lists(values, lists: lists.count, points: lists.pointsPerList, dimension: lists.dimension, depth: 3)
        }
    }

    /// The standard library keeps a temporary allocation on the stack only up to 1 KiB; above that
    /// each one cost 12 to 30 ns (a stack-bounds check or malloc), a VAD result writes ~1,500 lists.
    private static let scratchBytes = 1024

    /// Writes `values` (`lists` × `points` × `dimension`, in that order) as nested JSON lists, `depth`
    /// levels of brackets from the innermost (1: `[a, b]`, 2: `[[x, y], …]`, 3: `[[[x, y], …], …]`), into
    /// stack memory that is appended to `out` up to 1 KiB at a time. One append a piece instead of one a
    /// number: the append's uniqueness and capacity checks cost as much as a number's digits.
    private mutating func lists(_ values: UnsafeBufferPointer<Double>, lists: Int, points: Int, dimension: Int, depth: Int) throws(PluginError) {
        guard values.count == lists * points * dimension else {
            throw PluginError(.invalidValue, "cannot encode the result as JSON: \(values.count) numbers do not make \(lists) × \(points) × \(dimension)")
        }
        // Checked before anything is written: a refused result leaves no partial list behind.
        for value in values where !value.isFinite {
            throw PluginError(.invalidValue, "cannot encode the result as JSON: the number \(value) is not finite")
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.scratchBytes) { scratch in
            let base = scratch.baseAddress.unsafelyUnwrapped
            // Between two checks at most a comma, a number (with its room) and seven brackets or commas land.
            let limit = base + Self.scratchBytes - 64
            var cursor = base
            func put(_ byte: UInt8) {
                cursor.pointee = byte
                cursor += 1
            }
            func flushIfFull() {
                guard cursor > limit else { return }
                out.append(contentsOf: UnsafeBufferPointer(start: base, count: cursor - base))
                cursor = base
            }
            var index = 0
            if depth == 3 { put(UInt8(ascii: "[")) }
            for list in 0..<lists {
                if list > 0 { put(UInt8(ascii: ",")) }
                if depth >= 2 { put(UInt8(ascii: "[")) }
                for point in 0..<points {
                    flushIfFull()
                    if point > 0 { put(UInt8(ascii: ",")) }
                    put(UInt8(ascii: "["))
                    for coordinate in 0..<dimension {
                        flushIfFull()
                        if coordinate > 0 { put(UInt8(ascii: ",")) }
                        cursor += JSONWriter.writeNumber(values[index], to: cursor)
                        index += 1
                    }
                    put(UInt8(ascii: "]"))
                }
                if depth >= 2 { put(UInt8(ascii: "]")) }
            }
            if depth == 3 { put(UInt8(ascii: "]")) }
            out.append(contentsOf: UnsafeBufferPointer(start: base, count: cursor - base))
        }
    }

    private mutating func numbers(_ rows: [[Double]]) throws(PluginError) {
        try rows.withUnsafeBufferPointer { (rows) throws(PluginError) in
            out.append(UInt8(ascii: "["))
            for index in rows.indices {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try rows[index].withUnsafeBufferPointer { (values) throws(PluginError) in try numbers(values) }
            }
            out.append(UInt8(ascii: "]"))
        }
    }
}
