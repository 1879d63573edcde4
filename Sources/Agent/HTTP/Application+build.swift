import Hummingbird
import Logging

extension PodAgent {
    /// The router with every controller's routes, the error mapping and 405 answers.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        router.add(middleware: AuthMiddleware(token: apiToken, metricsPublic: config.api.metricsPublic))
        let root = router.group()
        HealthController(agent: self).addRoutes(to: root)
        ServerController().addRoutes(to: root)
        MetricsController(agent: self).addRoutes(to: root)
        ModelsController(agent: self).addRoutes(to: root)
        InferenceController(agent: self).addRoutes(to: root)
        TritonController(inference: inference, models: models, bodyIntake: bodyIntake).addRoutes(to: root)
        RepositoryController(agent: self).addRoutes(to: root)
        JobsController(agent: self).addRoutes(to: root)
        SSHController(hostKeys: hostKeys).addRoutes(to: root)
        router.addMethodNotAllowedRoutes()
        return router
    }

}
