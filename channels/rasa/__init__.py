"""Rasa interoperability: export a Rasa 3.6 project; serve our actions through rasa-sdk."""
