"""The telephony engine: channels, dialplan, bridges, queues, parking, recording."""
