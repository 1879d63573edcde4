import Hummingbird

/// A group of the API's routes. The router adds every controller's routes in one place
/// (``APIRouter/build(controllers:metrics:token:metricsPublic:)``), so a new group is one more
/// controller in ``APIRouter/controllers(readiness:reporter:metrics:gpu:supervisor:models:inference:jobs:intake:hostKeys:)``.
protocol APIController {
    func addRoutes(to group: RouterGroup<BasicRequestContext>)
}

extension HealthController: APIController where Context == BasicRequestContext {}
extension ServerController: APIController where Context == BasicRequestContext {}
extension MetricsController: APIController where Context == BasicRequestContext {}
extension ModelsController: APIController where Context == BasicRequestContext {}
extension InferenceController: APIController where Context == BasicRequestContext {}
extension RepositoryController: APIController where Context == BasicRequestContext {}
extension JobsController: APIController where Context == BasicRequestContext {}
extension SSHController: APIController where Context == BasicRequestContext {}
extension TritonController: APIController where Context == BasicRequestContext {}

/// Builds the API's router; each controller receives only the parts it uses.
enum APIRouter {
    /// Every controller of the API, in the order their routes are added.
    /// - Parameters:
    ///   - inference: inference's one handle, shared by the inference, repository, job and health
    ///     routes; nil when no model plugin exists (those routes answer 503).
    ///   - jobs: the job runner, present with `inference`.
    ///   - intake: how request bodies are received (size limit, large-body cap, decoding off the cooperative pool).
    static func controllers(
        readiness: ReadinessRegistry, reporter: HealthReporter, metrics: AgentMetrics, gpu: GPUMonitor, supervisor: Supervisor,
        models: ModelCatalog, inference: InferenceService?, jobs: JobRunner?, intake: BodyIntake, hostKeys: HostKeyBoard
    ) -> [any APIController] {
        [
            HealthController(readiness: readiness, inference: inference, reporter: reporter, enabled: models.enabled),
            ServerController(),
            MetricsController(metrics: metrics, readiness: readiness, gpu: gpu, supervisor: supervisor, startedAt: reporter.startedAt),
            ModelsController(models: models, readiness: readiness),
            InferenceController(inference: inference, intake: intake),
            TritonController(inference: inference, models: models, bodyIntake: intake),
            RepositoryController(inference: inference, intake: intake),
            JobsController(jobs: jobs, inference: inference, intake: intake),
            SSHController(hostKeys: hostKeys),
        ]
    }

    /// The router with the controllers' routes, the error mapping, the token check and 405 answers.
    static func build(controllers: [any APIController], metrics: AgentMetrics, token: APIToken?, metricsPublic: Bool) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        router.add(middleware: AuthMiddleware(token: token, metricsPublic: metricsPublic))
        let root = router.group()
        for controller in controllers { controller.addRoutes(to: root) }
        router.addMethodNotAllowedRoutes()
        return router
    }
}
