"""Package data for the working-day calendar: ``cn.json`` and its generator.

``cn.json`` is generated from the ``chinesecalendar`` package by
``python -m mtbrules.calendars.generate``; see docs/calendar.md.
"""
