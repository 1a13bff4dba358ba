"""The network behind the API: usage records (sessions, SMS, voice) and the simulator."""
