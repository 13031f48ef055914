"""The commented template dataset that `mpistd init` writes.

It is a complete, conformant example (the numbers of the conformance suite's clean base
dataset, `reference_data/conformance/base.py`) whose comments explain each section, so a new
user edits values instead of learning the structure from the schema.
"""
from __future__ import annotations

TEMPLATE_NAME = "my-calibration.mpical.yaml"

_TEMPLATE = """\
# mpistd dataset template (MPI calibration reporting standard, version 1.0).
#
# Replace the example values with your own, rename the file to NAME.mpical.yaml (the
# suffix lets `mpistd validate FOLDER` find it), then run:  mpistd validate NAME.mpical.yaml
# The fields marked FILL IN are empty (null): the file fails validation until they are filled.
#
# Units are fixed per field and written in the field name: _ug = micrograms of iron,
# _uL = microlitres, _ug_per_uL, _mm, _mm2, _nm, _mT, _T_per_m, _kHz, _percent ...
# Convert before you type, or start from a spreadsheet: `mpistd import TABLE METADATA`.
# Quote dates and the schema version so that they stay text.
# Keys starting with "x-" are yours (lab-specific fields); any other unknown key is an error.

schema_version: "1.0"

# --- dataset: who made this and how others may cite and reuse it --------------------------
dataset:
  id: my-calibration                # short, unique, no spaces
  title: ProMag calibration in water, fixed concentration (example)
  description: null                 # FILL IN: what was measured, where and why
  created: "2026-01-15"             # quoted: a date stays text
  authors:
    - name: null                    # FILL IN: your name
      # orcid: 0000-0000-0000-0000
      # affiliation: Your institute
  license: CC-BY-4.0
  # doi: 10.xxxx/xxxxx               # of this dataset, once deposited
  # references: ["10.xxxx/yyyyy"]   # DOIs or URLs of papers that use it

# --- tracers: the SPIONs used; calibrations and quantifications refer to them by id ----------
tracers:
  - id: promag
    name: ProMag
    vendor: Bangs Laboratories
    product_code: PMC1N
    # lot: ABC123                    # batch-to-batch variation is real: give the lot
    core_material: magnetite         # magnetite | maghemite | mixed | other
    # Stock iron concentration, measured (not the label value), and how.
    stock_iron_concentration_ug_per_uL: 3.1
    stock_concentration_method: icp-oes   # icp-oes | icp-ms | ferrozine | manufacturer | other
    # The particle model lets mpistd derive the interparticle distance of every point
    # (the paper's dilution argument). Either the iron mass of one particle (this ProMag
    # value is the examples'; with it 1.55 ug/uL gives the paper's ~116 um in solution) ...
    particle_model:
      kind: iron_mass_per_particle
      iron_mass_per_particle_fg: 10130000.0
    # ... or a spherical core (density and iron fraction default to magnetite):
    # particle_model: {kind: spherical_core, core_diameter_nm: 19.0, density_g_per_cm3: 5.17, iron_mass_fraction: 0.724}

# --- acquisitions: scanner settings; a calibration only quantifies data taken with the same ---
acquisitions:
  - id: hs-2d
    scanner:
      manufacturer: Magnetic Insight
      model: Momentum
      # software_version: "1.2.3"
    mode: high_sensitivity           # high_sensitivity | high_resolution | custom
    dimensionality: 2d               # 2d | 3d
    gradient_T_per_m: 3.0
    drive_frequency_kHz: 45.0
    drive_amplitude_mT: {x: 20.0, z: 26.0}   # the axes your scanner drives
    fov_mm: {x: 60.0, z: 120.0}
    pixel_size_mm: {x: 0.5, z: 0.5}
    sample_holder:
      kind: 7-well tube holder
      position: "3"                  # signal depends on position: keep it the same
    # saturation_level: 60000        # pixel value above which the receiver is non-linear
    # receiver_correction: {images_corrected: true}

# --- analysis: how images became numbers (may be {} but then expect warnings) ---------------
analysis:
  noise:
    method: empty_holder             # empty_holder | background_roi | other
    sd: 2.0                          # noise standard deviation, pixel units
  threshold:
    rule: k_sd                       # ROI = pixels above k * SD
    k: 5
  roi:
    method: threshold_all            # threshold_all | threshold_connected | manual
  fwhm:
    axis: x                          # x | y | z
    model: lorentzian
  interparticle_distance:
    estimator: wigner_seitz          # wigner_seitz | cubic | nearest_neighbour
  # software: {name: ImageJ, version: "1.54"}

# --- calibrations: one series each; points = levels, replicates = repeated measurements -------
calibrations:
  - id: promag-fc
    tracer: promag                   # a tracer id from above
    acquisition: hs-2d               # an acquisition id from above
    environment:
      kind: solution                 # solution | cells | tissue | gel | in_vivo
      medium: water
      # for cells: cell_type, labelling {iron_concentration_ug_per_mL, duration_h, medium},
      #            labelling_efficiency_percent {mean, sd}, viability_percent, iron_per_cell_pg
    # fixed_concentration: one stock, volume varies (concentration, and so the distance
    # between particles, stays constant; the paper recommends it over fixed_volume dilutions)
    method: fixed_concentration      # fixed_concentration | fixed_volume | cell_number | other
    independent_variable: iron_mass_ug   # iron_mass_ug | cell_count
    # final_volume_uL: 10.0          # required for fixed_volume
    # paired_with: other-series-id   # a fixed_volume series diluted from a fixed_concentration one
    points:                          # at least 5 levels, each with at least 3 replicates
      - sample_id: FC-1
        iron_mass_ug: 3.1
        iron_mass_method: icp-oes    # icp-oes | icp-ms | ferrozine | nominal | manufacturer
        volume_uL: 2.0
        concentration_ug_per_uL: 1.55
        # interparticle_distance_nm: as you report it in the paper (mpistd checks it)
        replicates:                  # max_intensity, total_intensity, mean_intensity,
                                     # roi_area_mm2, fwhm_mm, holder_position, image {path, format, sha256}
          - {max_intensity: 651.2, total_intensity: 6186.4}
          - {max_intensity: 671.2, total_intensity: 6376.4}
          - {max_intensity: 691.2, total_intensity: 6566.4}
      - sample_id: FC-2
        iron_mass_ug: 6.2
        iron_mass_method: icp-oes
        volume_uL: 4.0
        concentration_ug_per_uL: 1.55
        replicates:
          - {max_intensity: 1303.4, total_intensity: 12382.3}
          - {max_intensity: 1328.4, total_intensity: 12619.8}
          - {max_intensity: 1353.4, total_intensity: 12857.3}
      - sample_id: FC-3
        iron_mass_ug: 9.3
        iron_mass_method: icp-oes
        volume_uL: 6.0
        concentration_ug_per_uL: 1.55
        replicates:
          - {max_intensity: 1967.6, total_intensity: 18692.2}
          - {max_intensity: 1985.6, total_intensity: 18863.2}
          - {max_intensity: 2003.6, total_intensity: 19034.2}
      - sample_id: FC-4
        iron_mass_ug: 12.4
        iron_mass_method: icp-oes
        volume_uL: 8.0
        concentration_ug_per_uL: 1.55
        replicates:
          - {max_intensity: 2620.8, total_intensity: 24897.6}
          - {max_intensity: 2642.8, total_intensity: 25106.6}
          - {max_intensity: 2664.8, total_intensity: 25315.6}
      - sample_id: FC-5
        iron_mass_ug: 15.5
        iron_mass_method: icp-oes
        volume_uL: 10.0
        concentration_ug_per_uL: 1.55
        replicates:
          - {max_intensity: 3276.0, total_intensity: 31122.0}
          - {max_intensity: 3300.0, total_intensity: 31350.0}
          - {max_intensity: 3324.0, total_intensity: 31578.0}
      - sample_id: FC-6
        iron_mass_ug: 18.6
        iron_mass_method: icp-oes
        volume_uL: 12.0
        concentration_ug_per_uL: 1.55
        replicates:
          - {max_intensity: 3936.2, total_intensity: 37393.9}
          - {max_intensity: 3957.2, total_intensity: 37593.4}
          - {max_intensity: 3978.2, total_intensity: 37792.9}
    # What you reported; mpistd refits on the same basis and compares.
    fits:
      - metric: max_intensity        # max_intensity | total_intensity | mean_intensity
        model: linear
        slope: 212.0
        intercept: 14.0              # keep the intercept: do not force through the origin
        r_squared: 0.999749
        through_origin: false
        weighting: none              # none | 1/x | 1/x2
        fitted_to: replicates        # replicates | level_means

# --- quantifications (optional): unknown samples read off a calibration ---------------------
quantifications:
  - id: sample-A
    sample_id: A
    tracer: promag
    acquisition: hs-2d               # must match the calibration's settings
    environment: {kind: solution, medium: water}   # cells need a cell calibration
    calibration: promag-fc
    metric: max_intensity
    signal: [1925.0, 1931.0, 1937.0] # one value per replicate
    reported:
      iron_mass_ug: 9.0425           # your estimate; mpistd recomputes it with its CI
"""


def template_yaml() -> str:
    """The commented template dataset (YAML text that `yaml.safe_load` reads into a document)."""
    return _TEMPLATE
