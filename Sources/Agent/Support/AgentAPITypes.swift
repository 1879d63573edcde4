// The API's types (the health report and its parts, model and job states, host keys, timings) are
// declared once, in AgentAPI, and shared with the clients; the agent's public API is written in them,
// so importing Agent brings them along.
@_exported import AgentAPI
