"""Voices: qualitative sources (stories, focus groups, interviews, dialogues), their excerpts, consent per
excerpt and the de-identification review that must come before anything is public (issue 16)."""
