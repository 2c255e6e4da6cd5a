# One GPU machine with a public IP and an auto-shutdown timeout. The SSH public key is
# installed by a run-once startup script (the machine API has no SSH key argument).

provider "paperspace" {
  # null: the provider reads PAPERSPACE_API_KEY from its environment.
  api_key = var.paperspace_api_key
  region  = var.region
}

locals {
  ssh_user = "paperspace"
}

data "paperspace_template" "image" {
  count = var.template_id == null ? 1 : 0

  label  = var.template_labels[var.os_image]
  region = var.region
}

resource "paperspace_script" "authorized_key" {
  name        = "${var.machine_name}-authorized-key"
  description = "llmserve.triton: install the Ansible SSH key for ${local.ssh_user}"
  run_once    = true
  is_enabled  = true
  script_text = <<-EOT
    #!/bin/bash
    set -euo pipefail
    install -d -m 0700 -o ${local.ssh_user} -g ${local.ssh_user} /home/${local.ssh_user}/.ssh
    touch /home/${local.ssh_user}/.ssh/authorized_keys
    grep -qxF '${var.ssh_public_key}' /home/${local.ssh_user}/.ssh/authorized_keys ||
      echo '${var.ssh_public_key}' >> /home/${local.ssh_user}/.ssh/authorized_keys
    chown ${local.ssh_user}:${local.ssh_user} /home/${local.ssh_user}/.ssh/authorized_keys
    chmod 0600 /home/${local.ssh_user}/.ssh/authorized_keys
  EOT

  lifecycle {
    replace_triggered_by = [terraform_data.machine_spec]
  }
}

# The provider cannot change a machine or script in place (its update only re-reads it), so
# any change of these inputs replaces them rather than being silently ignored.
resource "terraform_data" "machine_spec" {
  input = {
    name                   = var.machine_name
    region                 = var.region
    machine_type           = var.machine_type
    disk_size_gb           = var.disk_size_gb
    billing_type           = var.billing_type
    os_image               = var.os_image
    template_id            = var.template_id
    team_id                = var.team_id
    user_id                = var.user_id
    shutdown_timeout_hours = var.shutdown_timeout_hours
    ssh_public_key         = var.ssh_public_key
  }
}

resource "paperspace_machine" "gpu" {
  name                      = var.machine_name
  region                    = var.region
  machine_type              = var.machine_type
  size                      = var.disk_size_gb
  billing_type              = var.billing_type
  template_id               = coalesce(var.template_id, one(data.paperspace_template.image[*].id))
  team_id                   = var.team_id
  user_id                   = var.user_id
  assign_public_ip          = true
  script_id                 = paperspace_script.authorized_key.id
  shutdown_timeout_in_hours = var.shutdown_timeout_hours

  lifecycle {
    replace_triggered_by = [terraform_data.machine_spec]
  }
}
