"""Pure EPANET/WNTR analyses: .inp text or a WaterNetworkModel in, JSON-ready SI dicts out.

No Flask, database or network access lives in this package. Where things are:

- ``loader``      parse_inp / decode_inp / bundled networks / content_hash
- ``simulation``  SimSettings, Simulation (picklable results), cached_simulate
- ``summary``, ``hydraulics``, ``timeseries``, ``quality``, ``resilience``, ``topology``
- ``criticality``, ``fireflow``, ``leak``, ``whatif`` (scenarios; shared parts in ``scenarios``)
- ``compact`` (LLM-sized results), ``plots`` (PNG/SVG), ``geojson`` (browser map)
- ``registry``    ANALYSES catalogue with JSON schemas, run_analysis
- ``limits``      deadlines and timeouts; ``errors`` the exceptions; ``checks`` parameter validation
"""
