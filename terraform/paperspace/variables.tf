# Inputs. playbooks/provision.yml writes the non-secret ones into
# llmserve.auto.tfvars.json in its work directory; the API key never goes there.

variable "paperspace_api_key" {
  description = <<-EOT
    Paperspace API key. Leave it unset to let the provider read PAPERSPACE_API_KEY from the
    environment (what playbooks/provision.yml does). Sensitive and ephemeral: Terraform keeps
    it out of plan files and state.
  EOT
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "team_id" {
  description = "Paperspace team ID (the team handle, e.g. te1a2b3c4d) that owns the machine."
  type        = string

  validation {
    condition     = length(trimspace(var.team_id)) > 0
    error_message = "team_id is empty: set provision_team_id (or PAPERSPACE_TEAM_ID)."
  }
}

variable "user_id" {
  description = "Paperspace user ID to assign the machine to (team administrators); null = the API key's user."
  type        = string
  default     = null
}

variable "region" {
  description = "Paperspace region, as the API names it."
  type        = string
  default     = "East Coast (NY2)"
}

variable "machine_type" {
  description = "Paperspace machine type, e.g. A6000x4, A100-80Gx8, H100x8."
  type        = string
  default     = "A6000x4"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]*(x[0-9]+)?$", var.machine_type))
    error_message = "machine_type must be a Paperspace machine type name such as A6000x4."
  }
}

variable "machine_name" {
  description = "Name of the machine in the Paperspace console (also its Ansible inventory name)."
  type        = string
  default     = "llmserve-triton"
}

variable "disk_size_gb" {
  description = "Boot disk size in GB. Model weights and container images need room: 500 GB by default."
  type        = number
  default     = 500

  validation {
    condition     = contains([50, 100, 250, 500, 1000, 2000], var.disk_size_gb)
    error_message = "disk_size_gb must be one of the Paperspace disk sizes: 50, 100, 250, 500, 1000, 2000."
  }
}

variable "billing_type" {
  description = "Paperspace billing type: hourly or monthly."
  type        = string
  default     = "hourly"

  validation {
    condition     = contains(["hourly", "monthly"], var.billing_type)
    error_message = "billing_type must be hourly or monthly."
  }
}

variable "os_image" {
  description = <<-EOT
    Machine image: ubuntu-22.04 (plain server; the playbooks install the NVIDIA driver) or
    ml-in-a-box (Paperspace's Ubuntu 22.04 image with the NVIDIA driver and CUDA already
    installed; output nvidia_driver_preinstalled is then true).
  EOT
  type        = string
  default     = "ubuntu-22.04"

  validation {
    condition     = contains(["ubuntu-22.04", "ml-in-a-box"], var.os_image)
    error_message = "os_image must be ubuntu-22.04 or ml-in-a-box."
  }
}

variable "template_labels" {
  description = "Paperspace template label looked up for each os_image (as shown in the console)."
  type        = map(string)
  default = {
    "ubuntu-22.04" = "Ubuntu 22.04 Server"
    "ml-in-a-box"  = "ML-in-a-Box Ubuntu 22.04"
  }
}

variable "template_id" {
  description = "Paperspace template ID; overrides the label lookup of os_image when set."
  type        = string
  default     = null
}

variable "shutdown_timeout_hours" {
  description = "Auto-shutdown after this many hours so a forgotten machine does not bill for ever."
  type        = number
  default     = 8

  validation {
    condition     = var.shutdown_timeout_hours >= 1 && var.shutdown_timeout_hours <= 168
    error_message = "shutdown_timeout_hours must be between 1 and 168."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed for the ssh user by the machine's first-boot script."
  type        = string

  validation {
    condition = (
      can(regex("^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp[0-9]+) [A-Za-z0-9+/=]+", var.ssh_public_key))
      && !strcontains(var.ssh_public_key, "'")
    )
    error_message = "ssh_public_key must be one OpenSSH public key line (ssh-ed25519 AAAA..., ssh-rsa ...)."
  }
}
