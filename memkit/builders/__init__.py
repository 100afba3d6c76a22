"""Note builders: derive keywords, tags and context from a note's content."""

from memkit.registry import note_builders

note_builders.register("heuristic", "memkit.builders.heuristic:HeuristicBuilder", config="memkit.config:BuilderConfig")
note_builders.register("llm", "memkit.builders.llm:LLMBuilder", config="memkit.config:BuilderConfig")
