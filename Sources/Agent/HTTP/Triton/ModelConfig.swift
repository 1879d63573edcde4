import Plugins

/// A model's configuration in the shape of Triton's model configuration extension
/// (`GET /v2/models/{name}/config`, model_config.proto's JSON names).
///
/// `input` and `output` are what infer takes and answers (the same as the model metadata);
/// the tensors the model itself produces, which the standard result is parsed from, are in
/// `parameters.model_outputs`.
struct ModelConfig: Encodable {
    struct Tensor: Encodable {
        var name: String
        var data_type: String
        var dims: [Int]
        var optional: Bool?
    }
    struct InstanceGroup: Encodable {
        var name: String
        /// `KIND_GPU` with the GPUs it uses, or `KIND_CPU`.
        var kind: String
        var count: Int
        var gpus: [Int]?
    }
    struct Parameter: Encodable {
        var string_value: String
    }
    struct VersionPolicy: Encodable {
        struct Latest: Encodable { var num_versions: Int }
        var latest: Latest
    }

    var name: String
    var platform: String
    var backend = "podagent"
    var version_policy = VersionPolicy(latest: .init(num_versions: 1))
    /// 0: requests carry no batch dimension; each request is one sample.
    var max_batch_size = 0
    var input: [Tensor]
    var output: [Tensor]
    var instance_group: [InstanceGroup]
    var parameters: [String: Parameter]

    init(_ plugin: any ModelPlugin, status: ModelStatus?) {
        name = plugin.manifest.name
        platform = plugin.platform
        func tensor(_ metadata: TensorMetadata, optional: Bool? = nil) -> Tensor {
            Tensor(
                name: metadata.name, data_type: TritonDatatype(rawValue: metadata.datatype)?.configName ?? metadata.datatype,
                dims: metadata.shape, optional: optional)
        }
        input = OIPInterface.inputs.map { tensor($0) }
        output = OIPInterface.outputs.map { tensor($0) }
        // One group per device, as Triton lists instances: the GPU each instance was placed on, or the CPU.
        var groups: [InstanceGroup] = []
        for instance in status?.instances ?? [] {
            // CUDA_VISIBLE_DEVICES: indices are listed as Triton lists GPUs; UUIDs leave `gpus` out.
            let kind = instance.gpu == nil ? "KIND_CPU" : "KIND_GPU"
            let indices = instance.gpu.map { $0.split(separator: ",").compactMap { Int($0.filter { $0 != " " }) } }
            let key = indices?.isEmpty == false ? indices : nil
            if let index = groups.firstIndex(where: { $0.kind == kind && $0.gpus == key }) {
                groups[index].count += 1
            } else {
                groups.append(InstanceGroup(name: "\(name)_\(groups.count)", kind: kind, count: 1, gpus: key))
            }
        }
        instance_group = groups
        var parameters: [String: Parameter] = [
            "tasks": Parameter(string_value: plugin.manifest.tasks.map(\.rawValue).joined(separator: ",")),
            "model_outputs": Parameter(string_value: plugin.outputs.map { "\($0.name) \($0.datatype) \($0.shape)" }.joined(separator: "; ")),
            "model_inputs": Parameter(string_value: plugin.inputs.map { "\($0.name) \($0.datatype) \($0.shape)" }.joined(separator: "; ")),
        ]
        if let status {
            parameters["state"] = Parameter(string_value: status.state)
            parameters["config"] = Parameter(string_value: status.config)
            parameters["checkpoint"] = Parameter(string_value: status.checkpoint)
            parameters["queue_limit"] = Parameter(string_value: String(status.queueLimit))
        }
        self.parameters = parameters
    }
}

/// Triton's `$stats_model_response`.
struct StatsResponse: Encodable {
    var model_stats: [ModelStats]
}

/// Triton's `$model_stat` for one model.
struct ModelStats: Encodable {
    struct InferenceStats: Encodable {
        var success: InferenceStatistics.Duration
        var fail: InferenceStatistics.Duration
        var queue: InferenceStatistics.Duration
        var compute_input: InferenceStatistics.Duration
        var compute_infer: InferenceStatistics.Duration
        var compute_output: InferenceStatistics.Duration
        /// podagent caches no responses: always zero.
        var cache_hit = InferenceStatistics.Duration()
        var cache_miss = InferenceStatistics.Duration()
    }
    struct BatchStats: Encodable {
        var batch_size: Int
        var compute_input: InferenceStatistics.Duration
        var compute_infer: InferenceStatistics.Duration
        var compute_output: InferenceStatistics.Duration
    }
    var name: String
    var version: String
    var last_inference: UInt64
    var inference_count: UInt64
    var execution_count: UInt64
    var inference_stats: InferenceStats
    /// Every execution is one sample: one entry of batch size 1 once the model has run.
    var batch_stats: [BatchStats]

    init(name: String, version: String, _ model: InferenceStatistics.Model) {
        self.name = name
        self.version = version
        last_inference = model.lastInference
        inference_count = model.inferenceCount
        execution_count = model.executionCount
        inference_stats = InferenceStats(
            success: model.success, fail: model.fail, queue: model.queue, compute_input: model.computeInput,
            compute_infer: model.computeInfer, compute_output: model.computeOutput)
        batch_stats = model.executionCount == 0 ? [] : [
            BatchStats(batch_size: 1, compute_input: model.computeInput, compute_infer: model.computeInfer, compute_output: model.computeOutput)
        ]
    }
}
