"""Dispatch of residents' service requests (派单): recording a request, ranking
and offering it to volunteers, their tasks, review, and the records list,
export and dashboard figures (models: volunteers/models/dispatch.py)."""
