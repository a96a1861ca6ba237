"""The leaderboard: reads result records only, aggregates and renders them."""
