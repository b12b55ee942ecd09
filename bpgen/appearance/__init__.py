"""How a person looks, as plain data (numpy only): skin tone, eyes, hair, garments and fabrics.

``sample_look`` draws a ``Look`` from the body config with an explicit generator; the Blender boundary
(``bpgen.blender.person``) turns it into materials and the body (``bpgen.bodies``) into geometry.
"""
