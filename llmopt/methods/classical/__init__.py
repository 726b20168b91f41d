"""Classical methods: black-box searches written once per solution space (and the library ones), and the
budgeted Objective that is their only door to a problem."""
