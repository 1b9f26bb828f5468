"""``nianbao serve``: the round on the web (offices' upload pages, the supervisor's pages, a JSON API)."""
