"""How a person looks, as plain data (numpy only): skin tone, eyes, hair, garments and fabrics.

Public API (import from the modules):
  ``config``      ``LookConfig``, ``look_config_from_dict`` (the look part of the body: section)
  ``look``        ``sample_look`` draws a ``Look`` with an explicit generator; ``Fabric``, ``Garment``
  ``vocabulary``  the names: age bands, sexes, skin tone bands, hair styles and colours, garments, fabrics
  ``palette``     ``garment_colour``, ``skin_albedo`` (colours people wear, skin of measured reflectance)
The Blender boundary (``bpgen.blender.person``) turns a ``Look`` into materials, the body (``bpgen.bodies``)
into geometry.
"""
